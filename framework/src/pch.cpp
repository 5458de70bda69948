// Compiles the precompiled header once for every cloze target to reuse.
