/* The two ops tables of drivers/host_ops.h. */
#include "drivers/host_ops.h"

const drv_sock_ops drv_conn_ops = {
    "conn",
    lp2p_host_conn_feed,
    lp2p_host_conn_eof,
    lp2p_host_conn_reset,
    lp2p_host_conn_recv_room,
    lp2p_host_out_peek,
    lp2p_host_conn_out_consume,
    lp2p_host_conn_interest,
    lp2p_host_poll_dirty,
    lp2p_host_conn_established,
    lp2p_host_conn_failed,
    lp2p_host_conn_accepted,
    NULL,
    NULL,
};

const drv_sock_ops drv_raw_ops = {
    "raw",
    lp2p_host_raw_feed,
    lp2p_host_raw_eof,
    lp2p_host_raw_aborted,
    lp2p_host_raw_recv_room,
    lp2p_host_raw_out_peek,
    lp2p_host_raw_out_consume,
    lp2p_host_raw_interest,
    lp2p_host_raw_poll_dirty,
    lp2p_host_raw_established,
    lp2p_host_raw_failed,
    lp2p_host_raw_accepted,
    lp2p_host_raw_recv_buf,
    lp2p_host_raw_recv_commit,
};
