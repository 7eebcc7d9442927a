/* The C shim of wiretape-dpdk-sys: DPDK's fast path is static inline functions and macros
 * (rte_eth_rx_burst, rte_pktmbuf_mtod, the per-lcore rte_errno, ...), which have no symbol
 * to link against. Each is wrapped here in a real function, compiled with the cc crate
 * against the same headers, and bound by bindgen with the rest of the API.
 *
 * The constants the Rust side needs that DPDK defines with function-like macros
 * (RTE_BIT64) are restated as plain integer macros, which bindgen can read; wt_shim.c
 * checks each against DPDK's own definition at compile time. */
#ifndef WT_SHIM_H
#define WT_SHIM_H

#include <stdint.h>
#include <stdio.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_version.h>

#define WT_RX_OFFLOAD_VLAN_STRIP (1ULL << 0)
#define WT_RX_OFFLOAD_QINQ_STRIP (1ULL << 5)
#define WT_RX_OFFLOAD_SCATTER (1ULL << 13)
#define WT_RX_OFFLOAD_TIMESTAMP (1ULL << 14)
#define WT_TX_OFFLOAD_MULTI_SEGS (1ULL << 15)
#define WT_TX_OFFLOAD_MBUF_FAST_FREE (1ULL << 16)
#define WT_TX_OFFLOAD_SEND_ON_TIMESTAMP (1ULL << 21)
#define WT_RSS_IPV4 (1ULL << 2)
#define WT_RSS_FRAG_IPV4 (1ULL << 3)
#define WT_RSS_NONFRAG_IPV4_TCP (1ULL << 4)
#define WT_RSS_NONFRAG_IPV4_UDP (1ULL << 5)
#define WT_RSS_NONFRAG_IPV4_OTHER (1ULL << 7)
#define WT_RSS_IPV6 (1ULL << 8)
#define WT_RSS_FRAG_IPV6 (1ULL << 9)
#define WT_RSS_NONFRAG_IPV6_TCP (1ULL << 10)
#define WT_RSS_NONFRAG_IPV6_UDP (1ULL << 11)
#define WT_RSS_NONFRAG_IPV6_OTHER (1ULL << 13)
/* Default mbuf data room: 2 KiB of data behind the headroom. */
#define WT_MBUF_DEFAULT_BUF_SIZE (2048 + 128)

/* rte_errno of the calling thread (a per-lcore TLS variable). */
int wt_errno(void);

/* rte_eth_rx_burst / rte_eth_tx_burst. */
uint16_t wt_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t wt_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);

/* One segment of a received packet: its data (rte_pktmbuf_mtod), its length in this
 * segment (data_len), the packet's length over all segments (pkt_len), the next segment
 * (NULL for the last) and the number of segments. */
struct wt_seg {
	const uint8_t *data;
	uint16_t data_len;
	uint16_t nb_segs;
	uint32_t pkt_len;
	const struct rte_mbuf *next;
};
void wt_mbuf_seg(const struct rte_mbuf *m, struct wt_seg *out);

/* The mbuf's dynamic RX timestamp if the PMD set it (ol_flags has rx_flag): 1 and *ts,
 * else 0. offset and rx_flag come from rte_mbuf_dyn_rx_timestamp_register. */
int wt_mbuf_rx_timestamp(const struct rte_mbuf *m, int offset, uint64_t rx_flag, uint64_t *ts);
/* Sets the dynamic TX timestamp (for SEND_ON_TIMESTAMP) and its flag. */
void wt_mbuf_set_tx_timestamp(struct rte_mbuf *m, int offset, uint64_t tx_flag, uint64_t ts);

/* A packet of len bytes copied from data into mbufs of mp: one, or a chain of as many as it
 * takes (rte_pktmbuf_chain) when max_segs > 1. NULL when the pool ran out or the packet
 * needs more than max_segs segments (nothing is kept then). */
struct rte_mbuf *wt_pktmbuf_copy_in(struct rte_mempool *mp, const uint8_t *data, uint32_t len,
				    uint16_t max_segs);

/* rte_rdtsc. */
uint64_t wt_rdtsc(void);

/* EAL log capture: while capturing, DPDK's log goes to a memory buffer instead of stderr,
 * so that a failure can be explained with DPDK's own words. wt_log_capture_end returns
 * the text captured (owned by the shim until the next capture) and sends the log to
 * stderr from then on. While capturing, stdout (fd 1) goes to stderr too: the EAL prints
 * its usage there when its arguments are wrong. */
int wt_log_capture_begin(void);
const char *wt_log_capture_end(void);

#endif
