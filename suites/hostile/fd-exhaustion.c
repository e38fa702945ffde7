// Opens the same fixture file again and again without closing it. Every
// open holds a host file descriptor, so an unbounded guest would exhaust
// the harness's descriptors (and break every other test running beside
// it). Past limits.open_files (default 1024) the guest is stopped with an
// "open file limit" trap. It stops opening after 4096 (well under usual
// host limits, so that a harness without the limit is not itself
// exhausted) and keeps running, holding them, to be stopped by the limit or,
// failing that, by the timeout (a failure). A failed open exits 1.
#include "fd-loop.h"
