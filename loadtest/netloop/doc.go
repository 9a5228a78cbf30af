// Package netloop runs many client.Machine instances on a few goroutines:
// each Worker owns one epoll instance (edge-triggered) and the non-blocking
// sockets of its share of the clients. There is no goroutine per
// connection.
//
// A Worker dials each Conn from its own source address (bound with
// IP_BIND_ADDRESS_NO_PORT so the kernel picks the port at connect time, which
// lets many 127.0.0.x sources share the port range), writes what the machine
// produces, reads until EAGAIN and feeds the machine. Clients marked Slow stop
// reading once they are ready but keep their socket open (slow-consumer
// scenario); a peer close is still noticed through EPOLLRDHUP.
//
// Dial, Stop and Do are safe from any goroutine (they queue work and wake the
// loop through an eventfd); everything else happens on the goroutine that
// called Run, including the Hooks callbacks. Linux only.
package netloop
