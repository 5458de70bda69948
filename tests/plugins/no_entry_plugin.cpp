// A shared library with no cloze entry point.
extern "C" int not_a_cloze_plugin() { return 42; }
