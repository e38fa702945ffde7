// Helpers shared by the fs tests.
#include <errno.h>
#include <stdio.h>
#include <string.h>

// Prints "LABEL: CONTENT" for a small text file, or "LABEL: error (ENAME)".
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
    case ENOTCAPABLE: return "ENOTCAPABLE";
    default: return "other";
    }
}

static inline void show_file(const char *label, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("%s: error (%s)\n", label, errname(errno));
        return;
    }
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    printf("%s: %s", label, buf);
}

static inline int write_file(const char *path, const char *mode, const char *text) {
    FILE *f = fopen(path, mode);
    if (!f) {
        printf("%s: cannot open (%s)\n", path, errname(errno));
        return 1;
    }
    fputs(text, f);
    if (fclose(f) != 0) {
        printf("%s: cannot close (%s)\n", path, errname(errno));
        return 1;
    }
    return 0;
}
