// wit-world: sockets
// The TCP echo server of suites/net/tcp-echo.c; the spec expects the echo
// upper-cased, which it is not.
#include "../../../suites/net/tcp-echo.c"
