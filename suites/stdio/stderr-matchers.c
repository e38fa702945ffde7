// Writes a diagnostic to stderr; checked with "contains".
#include <stdio.h>

int main(void) {
    fprintf(stderr, "warning: something odd at line 17\n");
    fprintf(stderr, "note: continuing anyway\n");
    printf("done\n");
    return 0;
}
