// 125 is the largest exit code WASI preview 1 allows (0..126).
#include <stdlib.h>

int main(void) { exit(125); }
