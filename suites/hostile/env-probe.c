// Looks for the host's environment: nothing of it leaks in when the spec
// declares no env, not even the usual variables, and argv is just argv[0].
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

static void show(const char *name) {
    const char *v = getenv(name);
    printf("%s: %s\n", name, v ? "SET" : "unset");
}

int main(int argc, char **argv) {
    show("HOME");
    show("PATH");
    show("USER");
    show("PWD");
    show("TMPDIR");
    show("SHELL");
    int n = 0;
    for (char **e = environ; e && *e; e++) n++;
    printf("environ entries: %d\n", n);
    printf("argc: %d\n", argc);
    return 0;
}
