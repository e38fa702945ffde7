// Stays under limits.open_files (50): opens 40 files, closes them, then does
// it again. The second round passes only if closing really gives the slots
// back (40 + 40 held would be past the limit).
#include "hostile.h"

int main(void) {
    int fds[40];
    for (int round = 1; round <= 2; round++) {
        for (int i = 0; i < 40; i++) {
            fds[i] = open("/file.txt", O_RDONLY);
            if (fds[i] < 0) {
                printf("round %d: open %d failed (%s)\n", round, i, errname(errno));
                return 1;
            }
        }
        printf("round %d: opened 40\n", round);
        for (int i = 0; i < 40; i++) {
            if (close(fds[i]) != 0) {
                printf("round %d: close %d failed (%s)\n", round, i, errname(errno));
                return 1;
            }
        }
        printf("round %d: closed 40\n", round);
    }
    return 0;
}
