// Every way of changing a read-only preopen is refused: creating a file, a
// directory, a symlink or a hard link; opening an existing file for writing
// (plain, append, truncate); renaming; deleting a file.
// Reading still works. The files check proves nothing changed.
#include <sys/stat.h>
#include "hostile.h"

static void report(const char *what, int failed) {
    if (failed) printf("%s: refused (%s)\n", what, errname(errno));
    else printf("%s: ALLOWED\n", what);
}

static void try_open(const char *what, const char *path, int flags) {
    int fd = open(path, flags, 0644);
    report(what, fd < 0);
    if (fd >= 0) close(fd);
}

int main(void) {
    try_read("read", "/ro/file.txt");
    try_open("create", "/ro/new.txt", O_WRONLY | O_CREAT | O_EXCL);
    try_open("create in subdir", "/ro/sub/new.txt", O_WRONLY | O_CREAT);
    try_open("open for writing", "/ro/file.txt", O_WRONLY);
    try_open("open for reading and writing", "/ro/file.txt", O_RDWR);
    try_open("append", "/ro/file.txt", O_WRONLY | O_APPEND);
    try_open("truncate", "/ro/file.txt", O_WRONLY | O_TRUNC);
    report("mkdir", mkdir("/ro/newdir", 0755) != 0);
    report("symlink", symlink("file.txt", "/ro/link") != 0);
    report("link", link("/ro/file.txt", "/ro/hardlink.txt") != 0);
    report("rename", rename("/ro/file.txt", "/ro/moved.txt") != 0);
    report("rename into subdir", rename("/ro/file.txt", "/ro/sub/moved.txt") != 0);
    report("unlink", unlink("/ro/file.txt") != 0);
    report("unlink in subdir", unlink("/ro/sub/keep.txt") != 0);
    return 0;
}
