/* The NFQUEUE socket: binding a queue, reading packets, giving verdicts (libnetfilter_queue on libmnl). */
#ifndef TT_HELPER_ENGINE_QUEUE_H
#define TT_HELPER_ENGINE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mnl_socket;

/*
 * Opens a netlink socket bound to queue num, copying whole packets, fail-open,
 * with the kernel stamping received packets (see struct queue_packet). NULL on
 * error (errno).
 */
struct mnl_socket *queue_open(uint16_t num);

/* One queued packet, as the kernel handed it over. */
struct queue_packet {
	uint8_t *data;		/* from the IP header on */
	size_t len;
	/*
	 * When the kernel received it (NFQA_TIMESTAMP): CLOCK_REALTIME in
	 * microseconds, 0 when the message has none (packets sent by this host).
	 * The kernel stamps received packets only while some socket asks for
	 * timestamps; the queue socket does (SO_TIMESTAMP).
	 */
	uint64_t tstamp_us;
	bool changed;		/* set by the callback: data was changed in place */
};

/*
 * Reads the packets waiting on the socket, max of them or a few more (a
 * read's whole buffer is handled), and calls cb for each; cb returns the
 * verdict (NF_ACCEPT or NF_DROP), sent with the read's others when it ends.
 * cb may change the packet in place, keeping its length, and set
 * pkt->changed: the changed bytes then go with the verdict. Returns the number of packets handled
 * (max or more: packets may be left), or -1 on a socket error other than
 * EAGAIN.
 */
typedef int (*queue_packet_cb)(void *arg, struct queue_packet *pkt);
int queue_read(struct mnl_socket *nl, uint16_t num, int max, queue_packet_cb cb, void *arg);
/*
 * Sends the verdicts given so far in one message (queue_read gives them in
 * batches, one send per read); call it before sending anything that must
 * not overtake a packet already read, such as a probe.
 */
int queue_flush(struct mnl_socket *nl);

#endif
