# cmake -DOUTPUT=templates.inc -DROOT=dir -DFILES="a|b" -P EmbedTemplates.cmake
#
# Writes the files as C++ initialisers {"relative/path", R"(...)"}, one per
# line, for the `cloze new-plugin` scaffold to compile in: the tool then
# carries its templates wherever it is installed.
string(REPLACE "|" ";" files "${FILES}")
set(content "")
foreach(file ${files})
  file(READ ${ROOT}/${file} text)
  string(APPEND content "{\"${file}\", R\"cloze_template(${text})cloze_template\"},\n")
endforeach()
file(WRITE ${OUTPUT} "${content}")
