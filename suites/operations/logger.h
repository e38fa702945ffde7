// Shared by the ops-*files tests. argv[1] is a directory: print its
// greeting.txt, then append each stdin line to its log.txt (answering
// "logged N" after each) until "quit", then delete its remove-me.txt.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void join(char *out, size_t size, const char *dir, const char *name) {
    size_t n = strlen(dir);
    snprintf(out, size, "%s%s%s", dir, (n > 0 && dir[n - 1] == '/') ? "" : "/", name);
}

int main(int argc, char **argv) {
    if (argc < 2) return 100;
    char path[512], line[256];

    join(path, sizeof path, argv[1], "greeting.txt");
    FILE *f = fopen(path, "r");
    if (!f || !fgets(line, sizeof line, f)) { printf("cannot read %s\n", path); return 101; }
    fclose(f);
    printf("greeting: %s", line);
    fflush(stdout);

    int n = 0;
    join(path, sizeof path, argv[1], "log.txt");
    while (fgets(line, sizeof line, stdin) && strcmp(line, "quit\n") != 0) {
        f = fopen(path, "a");
        if (!f) { printf("cannot open %s\n", path); return 102; }
        fputs(line, f);
        fclose(f);
        printf("logged %d\n", ++n);
        fflush(stdout);
    }

    join(path, sizeof path, argv[1], "remove-me.txt");
    if (unlink(path) != 0) { printf("cannot delete %s\n", path); return 103; }
    return 0;
}
