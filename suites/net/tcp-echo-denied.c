// wit-world: sockets
// The TCP echo server of tcp-echo.c, run by a spec that lists no proposal:
// the sandbox grants no network, so its bind fails with access-denied.
#include "tcp-echo.c"
