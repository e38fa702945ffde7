// Creates a file, overwrites one of the fixture and deletes nothing; the spec
// checks the results with `files` (on the test's own copy of the fixture).
#include <stdio.h>

static int put(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    fputs(text, f);
    return fclose(f) != 0;
}

int main(void) {
    if (put("/new.txt", "written by a component\n")) return 1;
    if (put("/data.txt", "replaced\n")) return 1;
    printf("wrote 2 files\n");
    return 0;
}
