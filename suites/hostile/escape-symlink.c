// The guest makes its own symlinks pointing out of its sandbox (absolute
// targets, "..", the host's root, a dangling one to create a file through,
// a loop) and tries to read or write through them: every attempt is denied
// and the loop does not hang. Whether the host refuses to create such a link
// or only refuses to follow it is its choice (either is reported), but a
// symlink that stays inside the sandbox is created and followed.
#include "hostile.h"

static void make_link(const char *target, const char *path) {
    if (symlink(target, path) == 0) printf("symlink %s -> %s: created\n", path, target);
    else printf("symlink %s -> %s: refused\n", path, target);
}

int main(void) {
    make_link("/etc/passwd", "/link");
    try_read("read /link", "/link");
    make_link("../../../etc", "/up");
    try_read("read /up/passwd", "/up/passwd");
    make_link("/", "/hostroot");
    try_read("read /hostroot/etc/passwd", "/hostroot/etc/passwd");
    make_link("sub", "/s");
    try_read("read /s/../../etc/passwd", "/s/../../etc/passwd");
    make_link("../hostile-escape-probe.txt", "/out");
    try_write("write /out", "/out");
    make_link("loop", "/loop");
    try_read("read /loop", "/loop");

    // Controls: links inside the sandbox work.
    make_link("data.txt", "/inside");
    try_read("read /inside", "/inside");
    make_link("sub/../data.txt", "/inside2");
    try_read("read /inside2", "/inside2");
    try_read("read /s/inner.txt", "/s/inner.txt");
    return 0;
}
