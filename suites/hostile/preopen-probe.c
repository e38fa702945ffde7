// With neither root nor dirs in the spec the guest gets no directory at
// all: no descriptor beyond stdio is open (it looks through the first 1024),
// none is a preopen, and no path resolves to a host file.
#include <dirent.h>
#include "hostile.h"

int main(void) {
    int open_fds = 0, preopens = 0;
    for (__wasi_fd_t fd = 3; fd < 1024; fd++) {
        __wasi_fdstat_t st;
        if (__wasi_fd_fdstat_get(fd, &st) == 0) open_fds++;
        __wasi_prestat_t ps;
        if (__wasi_fd_prestat_get(fd, &ps) == 0) preopens++;
    }
    printf("descriptors beyond stdio: %d\n", open_fds);
    printf("preopens: %d\n", preopens);
    try_read("open /etc/passwd", "/etc/passwd");
    try_read("open etc/passwd", "etc/passwd");
    try_read("open ../etc/passwd", "../etc/passwd");
    try_write("create /tmp/wasi-conform-hostile-probe.txt", "/tmp/wasi-conform-hostile-probe.txt");
    DIR *d = opendir("/");
    if (d) { closedir(d); printf("opendir /: ALLOWED\n"); }
    else printf("opendir /: denied\n");
    d = opendir(".");
    if (d) { closedir(d); printf("opendir .: ALLOWED\n"); }
    else printf("opendir .: denied\n");
    return 0;
}
