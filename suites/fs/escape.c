// Tries to leave the root preopen with "..": every attempt must fail, while
// ".." that stays inside the sandbox works.
#include <dirent.h>
#include "fsutil.h"

static void try_dir(const char *path) {
    DIR *d = opendir(path);
    if (d) { closedir(d); printf("opendir %s: ALLOWED\n", path); }
    else printf("opendir %s: denied\n", path);
}

static void try_file(const char *path, const char *mode) {
    FILE *f = fopen(path, mode);
    if (f) { fclose(f); printf("fopen %s %s: ALLOWED\n", path, mode); }
    else printf("fopen %s %s: denied\n", path, mode);
}

int main(void) {
    try_dir("/..");
    try_dir("..");
    try_dir("/sub/../..");
    try_dir("/../..");
    try_file("/../escape.txt", "w");
    try_file("../escape.txt", "w");
    try_file("/sub/../../escape.txt", "w");
    try_dir("/sub/..");
    show_file("/sub/../data.txt", "/sub/../data.txt");
    return 0;
}
