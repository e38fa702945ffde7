// Tries to reach the host's /etc/passwd from a `root` preopen (root.dir has
// no etc/): with "..", with absolute host paths, through wasi-libc and with
// raw path_open calls on the preopen's fd (which skip wasi-libc's own path
// handling, so the host alone must refuse). Every attempt is denied; ".."
// that stays inside the sandbox still works.
#include "hostile.h"

int main(void) {
    try_read("open ../../../../etc/passwd", "../../../../etc/passwd");
    try_read("open /../etc/passwd", "/../etc/passwd");
    try_read("open /etc/passwd", "/etc/passwd");
    try_read("open /sub/../../etc/passwd", "/sub/../../etc/passwd");
    try_read("open /./sub/./../../../../../../../../etc/passwd",
             "/./sub/./../../../../../../../../etc/passwd");
    try_write("create ../hostile-escape-probe.txt", "../hostile-escape-probe.txt");

    int root = find_preopen("/");
    if (root < 0) {
        printf("no preopen named /\n");
        return 1;
    }
    try_raw_read("raw /etc/passwd", root, "/etc/passwd");
    try_raw_read("raw //etc/passwd", root, "//etc/passwd");
    try_raw_read("raw ../etc/passwd", root, "../etc/passwd");
    try_raw_read("raw ..", root, "..");
    try_raw_read("raw sub/../../etc/passwd", root, "sub/../../etc/passwd");
    try_raw_read("raw sub/../../../../../../../../../../etc/passwd", root,
                 "sub/../../../../../../../../../../etc/passwd");
    try_raw_read("raw /", root, "/");

    // Controls: staying inside the sandbox works.
    try_read("open /sub/../data.txt", "/sub/../data.txt");
    try_raw_read("raw sub/../data.txt", root, "sub/../data.txt");
    return 0;
}
