/* See wt_shim.h. */
#include <stdlib.h>
#include <unistd.h>

#include "wt_shim.h"

_Static_assert(WT_RX_OFFLOAD_VLAN_STRIP == RTE_ETH_RX_OFFLOAD_VLAN_STRIP, "VLAN_STRIP");
_Static_assert(WT_RX_OFFLOAD_QINQ_STRIP == RTE_ETH_RX_OFFLOAD_QINQ_STRIP, "QINQ_STRIP");
_Static_assert(WT_RX_OFFLOAD_SCATTER == RTE_ETH_RX_OFFLOAD_SCATTER, "SCATTER");
_Static_assert(WT_RX_OFFLOAD_TIMESTAMP == RTE_ETH_RX_OFFLOAD_TIMESTAMP, "RX TIMESTAMP");
_Static_assert(WT_TX_OFFLOAD_MULTI_SEGS == RTE_ETH_TX_OFFLOAD_MULTI_SEGS, "MULTI_SEGS");
_Static_assert(WT_TX_OFFLOAD_MBUF_FAST_FREE == RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE, "FAST_FREE");
_Static_assert(WT_TX_OFFLOAD_SEND_ON_TIMESTAMP == RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP,
	       "SEND_ON_TIMESTAMP");
_Static_assert(WT_RSS_IPV4 == RTE_ETH_RSS_IPV4, "RSS_IPV4");
_Static_assert(WT_RSS_FRAG_IPV4 == RTE_ETH_RSS_FRAG_IPV4, "RSS_FRAG_IPV4");
_Static_assert(WT_RSS_NONFRAG_IPV4_TCP == RTE_ETH_RSS_NONFRAG_IPV4_TCP, "RSS_IPV4_TCP");
_Static_assert(WT_RSS_NONFRAG_IPV4_UDP == RTE_ETH_RSS_NONFRAG_IPV4_UDP, "RSS_IPV4_UDP");
_Static_assert(WT_RSS_NONFRAG_IPV4_OTHER == RTE_ETH_RSS_NONFRAG_IPV4_OTHER, "RSS_IPV4_OTHER");
_Static_assert(WT_RSS_IPV6 == RTE_ETH_RSS_IPV6, "RSS_IPV6");
_Static_assert(WT_RSS_FRAG_IPV6 == RTE_ETH_RSS_FRAG_IPV6, "RSS_FRAG_IPV6");
_Static_assert(WT_RSS_NONFRAG_IPV6_TCP == RTE_ETH_RSS_NONFRAG_IPV6_TCP, "RSS_IPV6_TCP");
_Static_assert(WT_RSS_NONFRAG_IPV6_UDP == RTE_ETH_RSS_NONFRAG_IPV6_UDP, "RSS_IPV6_UDP");
_Static_assert(WT_RSS_NONFRAG_IPV6_OTHER == RTE_ETH_RSS_NONFRAG_IPV6_OTHER, "RSS_IPV6_OTHER");
_Static_assert(WT_MBUF_DEFAULT_BUF_SIZE == RTE_MBUF_DEFAULT_BUF_SIZE, "MBUF_DEFAULT_BUF_SIZE");

int wt_errno(void)
{
	return rte_errno;
}

uint16_t wt_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_rx_burst(port, queue, pkts, n);
}

uint16_t wt_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_tx_burst(port, queue, pkts, n);
}

void wt_mbuf_seg(const struct rte_mbuf *m, struct wt_seg *out)
{
	out->data = rte_pktmbuf_mtod(m, const uint8_t *);
	out->data_len = rte_pktmbuf_data_len(m);
	out->nb_segs = m->nb_segs;
	out->pkt_len = rte_pktmbuf_pkt_len(m);
	out->next = m->next;
}

int wt_mbuf_rx_timestamp(const struct rte_mbuf *m, int offset, uint64_t rx_flag, uint64_t *ts)
{
	if (offset < 0 || (m->ol_flags & rx_flag) == 0)
		return 0;
	*ts = *RTE_MBUF_DYNFIELD(m, offset, const rte_mbuf_timestamp_t *);
	return 1;
}

void wt_mbuf_set_tx_timestamp(struct rte_mbuf *m, int offset, uint64_t tx_flag, uint64_t ts)
{
	*RTE_MBUF_DYNFIELD(m, offset, rte_mbuf_timestamp_t *) = ts;
	m->ol_flags |= tx_flag;
}

struct rte_mbuf *wt_pktmbuf_copy_in(struct rte_mempool *mp, const uint8_t *data, uint32_t len,
				    uint16_t max_segs)
{
	struct rte_mbuf *head = NULL;
	uint16_t segs = 0;
	do {
		struct rte_mbuf *m;
		uint16_t room, n;
		if (segs == max_segs)
			goto fail;
		m = rte_pktmbuf_alloc(mp);
		if (m == NULL)
			goto fail;
		room = rte_pktmbuf_tailroom(m);
		n = len < room ? (uint16_t)len : room;
		if (n == 0 && len > 0) {
			rte_pktmbuf_free(m);
			goto fail;
		}
		rte_memcpy(rte_pktmbuf_append(m, n), data, n);
		if (head == NULL) {
			head = m;
		} else if (rte_pktmbuf_chain(head, m) != 0) {
			rte_pktmbuf_free(m);
			goto fail;
		}
		segs++;
		data += n;
		len -= n;
	} while (len > 0);
	return head;
fail:
	if (head != NULL)
		rte_pktmbuf_free(head);
	return NULL;
}

uint64_t wt_rdtsc(void)
{
	return rte_rdtsc();
}

static char *log_buf;
static size_t log_len;
static FILE *log_stream;
static int saved_stdout = -1;

int wt_log_capture_begin(void)
{
	if (log_stream != NULL)
		return -1;
	/* The EAL prints its usage with printf: to stderr instead, stdout is the program's. */
	fflush(stdout);
	saved_stdout = dup(STDOUT_FILENO);
	if (saved_stdout >= 0)
		dup2(STDERR_FILENO, STDOUT_FILENO);
	free(log_buf);
	log_buf = NULL;
	log_len = 0;
	log_stream = open_memstream(&log_buf, &log_len);
	if (log_stream == NULL)
		return -1;
	return rte_openlog_stream(log_stream);
}

const char *wt_log_capture_end(void)
{
	if (saved_stdout >= 0) {
		fflush(stdout);
		dup2(saved_stdout, STDOUT_FILENO);
		close(saved_stdout);
		saved_stdout = -1;
	}
	if (log_stream == NULL)
		return "";
	/* On Linux, DPDK's default log stream is stdout (and syslog): keep stdout for the
	 * program's output and log to stderr. */
	rte_openlog_stream(stderr);
	fclose(log_stream);
	log_stream = NULL;
	return log_buf != NULL ? log_buf : "";
}
