// Looks variables up with getenv: declared ones are set, host ones (HOME,
// PATH) are not.
#include <stdio.h>
#include <stdlib.h>

static void show(const char *name) {
    const char *v = getenv(name);
    if (v) printf("%s=%s\n", name, v);
    else printf("%s is unset\n", name);
}

int main(void) {
    show("GREETING");
    show("HOME");
    show("PATH");
    show("USER");
    return 0;
}
