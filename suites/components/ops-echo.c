// Interactive: greets with argv[1] and $GREETER, then echoes each stdin line
// upper-cased, flushing after each. "quit" (or EOF) says "bye after N lines"
// on stderr and exits with 0 if N is 0, else 1 (exit(N) would give 1 for
// any non-zero N anyway: the wasi_snapshot_preview1 adapter maps a non-zero
// proc_exit code to wasi:cli/exit `exit(err)`).
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *who = argc > 1 ? argv[1] : "nobody";
    const char *from = getenv("GREETER");
    if (!from) from = "nowhere";
    printf("hello %s from %s\n", who, from);
    fflush(stdout);

    char line[256];
    int count = 0;
    while (fgets(line, sizeof line, stdin)) {
        if (strcmp(line, "quit\n") == 0) break;
        for (char *p = line; *p; p++) *p = (char)toupper((unsigned char)*p);
        fputs(line, stdout);
        fflush(stdout);
        count++;
    }
    fprintf(stderr, "bye after %d lines\n", count);
    exit(count == 0 ? 0 : 1);
}
