// A read-only preopen: reading works, every kind of change is refused.
#include <sys/stat.h>
#include <unistd.h>
#include "fsutil.h"

static void report(const char *what, int failed) {
    if (failed) printf("%s: refused (%s)\n", what, errname(errno));
    else printf("%s: ALLOWED\n", what);
}

int main(void) {
    show_file("read", "/ro/file.txt");
    FILE *f = fopen("/ro/new.txt", "w");
    report("create", f == NULL);
    if (f) fclose(f);
    f = fopen("/ro/file.txt", "a");
    report("append", f == NULL);
    if (f) fclose(f);
    f = fopen("/ro/file.txt", "w");
    report("truncate", f == NULL);
    if (f) fclose(f);
    report("unlink", unlink("/ro/file.txt") != 0);
    report("mkdir", mkdir("/ro/subdir", 0755) != 0);
    report("rename", rename("/ro/file.txt", "/ro/moved.txt") != 0);
    return 0;
}
