// Lists "/" and "/sub" (sorted): the root holds exactly the fixture's files.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        printf("%s: cannot open\n", path);
        return;
    }
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        size_t len = strlen(e->d_name);
        names[n] = malloc(len + 2);
        memcpy(names[n], e->d_name, len + 1);
        if (e->d_type == DT_DIR) strcat(names[n], "/");
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    printf("%s:", path);
    for (size_t i = 0; i < n; i++) printf(" %s", names[i]);
    printf("\n");
}

int main(void) {
    list("/");
    list("/sub");
    return 0;
}
