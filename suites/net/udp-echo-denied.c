// wit-world: sockets
// The UDP exchange of udp-echo.c, run by a spec that lists no proposal: the
// sandbox grants no network, so its bind fails with access-denied.
#include "udp-echo.c"
