// Reads a file of the `root` fixture (preopened as the guest's /), then one
// that does not exist.
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void show(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("%s: error (%s)\n", path, errno == ENOENT ? "ENOENT" : strerror(errno));
        return;
    }
    char line[256];
    printf("%s: ", path);
    while (fgets(line, sizeof line, f)) fputs(line, stdout);
    fclose(f);
}

int main(void) {
    show("/data.txt");
    show("data.txt");
    show("/missing.txt");
    return 0;
}
