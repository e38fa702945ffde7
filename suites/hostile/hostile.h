// Helpers shared by the hostile tests.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

static inline const char *errname(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EROFS: return "EROFS";
    case EBADF: return "EBADF";
    case ELOOP: return "ELOOP";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case EFBIG: return "EFBIG";
    case EINVAL: return "EINVAL";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    default: return "other";
    }
}

// Tries to open PATH for reading (through wasi-libc, which resolves it
// against the preopens) and prints "LABEL: denied" or, should it open,
// "LABEL: ALLOWED: " and the start of what it read.
static inline void try_read(const char *label, const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: denied\n", label);
        return;
    }
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) n = 0;
    buf[n] = 0;
    char *nl = strchr(buf, '\n');
    if (nl) *nl = 0;
    printf("%s: ALLOWED: %s\n", label, buf);
}

// Tries to create or overwrite PATH and prints "LABEL: denied" or
// "LABEL: ALLOWED".
static inline void try_write(const char *label, const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("%s: denied\n", label);
        return;
    }
    (void)!write(fd, "escaped\n", 8);
    close(fd);
    printf("%s: ALLOWED\n", label);
}

// The fd of the preopened directory named NAME, or -1.
static inline int find_preopen(const char *name) {
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_prestat_t ps;
        if (__wasi_fd_prestat_get(fd, &ps) != 0) continue;
        if (ps.tag != __WASI_PREOPENTYPE_DIR) continue;
        char buf[256];
        size_t len = ps.u.dir.pr_name_len;
        if (len >= sizeof buf) continue;
        if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)buf, len) != 0) continue;
        buf[len] = 0;
        if (strcmp(buf, name) == 0) return (int)fd;
    }
    return -1;
}

// path_open straight on DIRFD with PATH as given (no wasi-libc path
// handling): prints "LABEL: denied" or "LABEL: ALLOWED: " and the start of
// the file.
static inline void try_raw_read(const char *label, int dirfd, const char *path) {
    __wasi_fd_t fd;
    __wasi_errno_t err = __wasi_path_open(
        (__wasi_fd_t)dirfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, 0,
        __WASI_RIGHTS_FD_READ, 0, 0, &fd);
    if (err != 0) {
        printf("%s: denied\n", label);
        return;
    }
    char buf[64];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf - 1};
    __wasi_size_t n = 0;
    if (__wasi_fd_read(fd, &iov, 1, &n) != 0) n = 0;
    (void)!__wasi_fd_close(fd);
    buf[n] = 0;
    char *nl = strchr(buf, '\n');
    if (nl) *nl = 0;
    printf("%s: ALLOWED: %s\n", label, buf);
}

// Keeps the guest running wasm, doing nothing, until something stops it.
static inline __attribute__((noreturn)) void spin_forever(void) {
    for (volatile unsigned i = 0;; i++) {
    }
}
