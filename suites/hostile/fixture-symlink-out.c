// links.dir, the root, holds committed symlinks that point out of it:
//   passwd    -> /etc/passwd                       (absolute)
//   up-passwd -> ../../(...)/etc/passwd            (relative, climbing out)
//   up-etc    -> ../../(...)/etc                   (a directory outside)
//   out-probe -> ../../(...)/tmp/wasi-conform-hostile-probe.txt (dangling)
//   inside    -> hello.txt                         (stays inside: a control)
// The temporary copy keeps them as symlinks; following any that leaves the
// sandbox is denied, for reading, listing, stat and creating through them.
// (Nothing here writes towards a real host file: had the sandbox leaked,
// the write would only create a probe file under /tmp.)
#include <dirent.h>
#include <sys/stat.h>
#include "hostile.h"

int main(void) {
    try_read("read /passwd", "/passwd");
    try_read("read /up-passwd", "/up-passwd");
    try_read("read /up-etc/passwd", "/up-etc/passwd");
    DIR *d = opendir("/up-etc");
    if (d) { closedir(d); printf("opendir /up-etc: ALLOWED\n"); }
    else printf("opendir /up-etc: denied\n");
    struct stat st;
    printf("stat /passwd: %s\n", stat("/passwd", &st) == 0 ? "ALLOWED" : "denied");
    printf("stat /up-etc: %s\n", stat("/up-etc", &st) == 0 ? "ALLOWED" : "denied");
    try_write("write /out-probe", "/out-probe");

    int root = find_preopen("/");
    if (root < 0) {
        printf("no preopen named /\n");
        return 1;
    }
    try_raw_read("raw passwd", root, "passwd");
    try_raw_read("raw up-etc/passwd", root, "up-etc/passwd");

    // The link itself is part of the sandbox: lstat sees a symlink.
    printf("lstat /passwd: %s\n",
           lstat("/passwd", &st) == 0 && S_ISLNK(st.st_mode) ? "symlink" : "other");
    try_read("read /inside", "/inside");
    return 0;
}
