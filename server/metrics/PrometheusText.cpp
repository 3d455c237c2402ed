#include "metrics/PrometheusText.h"

#include "status/NodeStatus.h"

#include <cmath>
#include <utility>

namespace wingman::metrics {

namespace {

QByteArray number(double value)
{
    return QByteArray::number(value, 'g', 17);
}

// Label values escape backslash, double quote and newline.
QByteArray escapeLabel(const QString &value)
{
    QByteArray out;
    for (const char c : value.toUtf8()) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

} // namespace

void PrometheusText::family(const char *name, const char *type, const char *help)
{
    m_header
        = QByteArray("# HELP ") + name + ' ' + help + '\n' + "# TYPE " + name + ' ' + type + '\n';
}

void PrometheusText::flushHeader()
{
    if (!m_header.isEmpty())
        m_text += std::exchange(m_header, QByteArray());
}

void PrometheusText::sample(const char *name, double value)
{
    flushHeader();
    m_text += QByteArray(name) + ' ' + number(value) + '\n';
}

void PrometheusText::sample(
    const char *name, const char *label, const QString &labelValue, double value)
{
    flushHeader();
    m_text += QByteArray(name) + '{' + label + "=\"" + escapeLabel(labelValue) + "\"} "
        + number(value) + '\n';
}

void PrometheusText::sample(const char *name, const char *label, const QString &labelValue,
    const char *label2, const QString &labelValue2, double value)
{
    m_text += QByteArray(name) + '{' + label + "=\"" + escapeLabel(labelValue) + "\"," + label2
        + "=\"" + escapeLabel(labelValue2) + "\"} " + number(value) + '\n';
}

namespace {

// docs/cluster.md §10, anti-entropy part; only on a node that ran a round.
void writeAntiEntropy(PrometheusText &out, const status::NodeCounters &c)
{
    // Families only with samples (promtool skips empty ones): a peer that only answered rounds
    // has repairs but no rounds or duration of its own.
    bool started = false;
    for (const auto &peer : c.antiEntropyByPeer)
        started = started || !peer.rounds.isEmpty();
    if (started) {
        out.family("wingman_cluster_antientropy_rounds_total", "counter",
            "Anti-entropy rounds this node started, by peer and result (equal, repaired, failed).");
        for (auto it = c.antiEntropyByPeer.cbegin(); it != c.antiEntropyByPeer.cend(); ++it) {
            for (auto round = it->rounds.cbegin(); round != it->rounds.cend(); ++round) {
                out.sample("wingman_cluster_antientropy_rounds_total", "peer", it.key(), "result",
                    round.key(), double(round.value()));
            }
        }
        out.family("wingman_cluster_antientropy_last_duration_seconds", "gauge",
            "Duration of the last anti-entropy round this node started with the peer.");
        for (auto it = c.antiEntropyByPeer.cbegin(); it != c.antiEntropyByPeer.cend(); ++it) {
            if (!it->rounds.isEmpty()) {
                out.sample("wingman_cluster_antientropy_last_duration_seconds", "peer", it.key(),
                    it->lastDurationSeconds);
            }
        }
    }
    if (c.antiEntropyByPeer.isEmpty())
        return;
    out.family("wingman_cluster_antientropy_keys_repaired_total", "counter",
        "Changes applied here from anti-entropy rounds with the peer.");
    for (auto it = c.antiEntropyByPeer.cbegin(); it != c.antiEntropyByPeer.cend(); ++it) {
        out.sample("wingman_cluster_antientropy_keys_repaired_total", "peer", it.key(),
            double(it->keysRepaired));
    }
}

// docs/cluster.md §10, replication part; only on a node that replicates.
void writeReplication(PrometheusText &out, const status::NodeCounters &c)
{
    if (c.ackWaitHistogram.isEmpty())
        return;
    using P = status::NodeCounters::PeerReplication;
    struct PerPeer {
        const char *name;
        const char *type;
        const char *help;
        quint64 P::*field;
    };
    const PerPeer perPeer[] = {
        { "wingman_cluster_replicate_changes_sent_total", "counter",
            "Changes sent to the peer in REPLICATE batches, replays included.", &P::changesSent },
        { "wingman_cluster_replicate_changes_received_total", "counter",
            "Changes received from the peer in REPLICATE batches.", &P::changesReceived },
        { "wingman_cluster_replication_queue_bytes", "gauge",
            "Bytes of REPLICATE batches the peer has not acked.", &P::queueBytes },
        { "wingman_cluster_hints_replayed_total", "counter",
            "REPLICATE batches re-sent to the peer on a link-up.", &P::hintsReplayed },
        { "wingman_cluster_hint_queues_dropped_total", "counter",
            "Times the peer's hint queue overflowed and was dropped.", &P::queuesDropped },
    };
    for (const PerPeer &metric : perPeer) {
        out.family(metric.name, metric.type, metric.help);
        for (auto it = c.replicationByPeer.cbegin(); it != c.replicationByPeer.cend(); ++it)
            out.sample(metric.name, "peer", it.key(), double(it.value().*metric.field));
    }
    out.family("wingman_cluster_acks_degraded_total", "counter",
        "OP_ACKs sent without their ack set met (timeout, or no reachable peer).");
    out.sample("wingman_cluster_acks_degraded_total", double(c.acksDegraded));
    out.family("wingman_cluster_kind_conflicts_total", "counter",
        "Replicated changes refused because the local map is of the other kind.");
    out.sample("wingman_cluster_kind_conflicts_total", double(c.kindConflicts));
    out.family("wingman_cluster_ack_wait_seconds", "histogram",
        "Time from the local commit to the ack set met.");
    for (const auto &[bound, count] : c.ackWaitHistogram) {
        out.sample("wingman_cluster_ack_wait_seconds_bucket", "le",
            std::isinf(bound) ? QStringLiteral("+Inf") : QString::number(bound, 'g', 6),
            double(count));
    }
    out.sample("wingman_cluster_ack_wait_seconds_sum", double(c.ackWaitMs) / 1000.0);
    out.sample("wingman_cluster_ack_wait_seconds_count", double(c.ackWaitHistogram.last().second));
}

// docs/cluster.md §10: membership, table, links and probes.
void writeCluster(PrometheusText &out, const status::NodeStatus &node)
{
    using cluster::MemberState;
    const QList<cluster::Member> members = node.members();
    QMap<MemberState, int> byState;
    for (const cluster::Member &member : members)
        byState[member.nodeId.isEmpty() ? MemberState::Down : member.memberState] += 1;
    out.family("wingman_cluster_members", "gauge", "Other cluster members by membership state.");
    for (MemberState state : { MemberState::Joining, MemberState::Up, MemberState::Suspect,
             MemberState::Down, MemberState::Leaving, MemberState::Left })
        out.sample("wingman_cluster_members", "state", cluster::memberStateName(state),
            byState.value(state));

    const status::ClusterStatus cluster = node.clusterStatus();
    out.family("wingman_cluster_partition_table_version", "gauge",
        "Version of the partition table this node has adopted.");
    out.sample("wingman_cluster_partition_table_version", double(cluster.tableVersion));
    out.family("wingman_cluster_partitions_owned", "gauge", "Partitions this node owns.");
    out.sample("wingman_cluster_partitions_owned", cluster.partitionsOwned);
    out.family("wingman_cluster_partitions_backup", "gauge", "Partitions this node backs up.");
    out.sample("wingman_cluster_partitions_backup", cluster.partitionsBackup);
    out.family("wingman_cluster_suspicions_total", "counter",
        "Members this node began to suspect after missed probes.");
    out.sample("wingman_cluster_suspicions_total", double(cluster.suspicions));
    out.family("wingman_cluster_handshake_failures_total", "counter",
        "Refused peer handshakes by reason.");
    for (const QString &reason : { QStringLiteral("authentication"), QStringLiteral("version"),
             QStringLiteral("protocol"), QStringLiteral("tls") })
        out.sample("wingman_cluster_handshake_failures_total", "reason", reason,
            double(cluster.handshakeFailures.value(reason)));

    out.family(
        "wingman_cluster_link_up", "gauge", "1 while an authenticated link to the peer is up.");
    for (const cluster::Member &member : members) {
        if (!member.nodeId.isEmpty())
            out.sample("wingman_cluster_link_up", "peer", member.nodeId,
                member.state == cluster::LinkState::Up ? 1 : 0);
    }
    out.family("wingman_cluster_link_rtt_seconds", "gauge", "Last PING/ACK round trip per peer.");
    for (const cluster::Member &member : members) {
        if (!member.nodeId.isEmpty() && member.rttMs >= 0)
            out.sample(
                "wingman_cluster_link_rtt_seconds", "peer", member.nodeId, member.rttMs / 1000.0);
    }
    out.family("wingman_cluster_probe_failures_total", "counter",
        "Probes of the peer answered neither directly nor indirectly.");
    for (const cluster::Member &member : members) {
        if (!member.nodeId.isEmpty())
            out.sample("wingman_cluster_probe_failures_total", "peer", member.nodeId,
                double(member.probeFailures));
    }
}

} // namespace

QByteArray PrometheusText::render(const status::NodeStatus &node)
{
    const status::NodeCounters c = node.counterTotals();
    PrometheusText out;

    int pending = 0, authenticated = 0, failed = 0;
    for (const ConnectionInfo &info : node.connections()) {
        switch (info.authState) {
        case auth::AuthState::Pending:
            ++pending;
            break;
        case auth::AuthState::Authenticated:
            ++authenticated;
            break;
        case auth::AuthState::Failed:
            ++failed;
            break;
        }
    }
    out.family("wingman_connections", "gauge", "Open client connections by auth state.");
    out.sample("wingman_connections", "state", QStringLiteral("pending"), pending);
    out.sample("wingman_connections", "state", QStringLiteral("authenticated"), authenticated);
    out.sample("wingman_connections", "state", QStringLiteral("failed"), failed);

    out.family("wingman_connections_accepted_total", "counter", "Client connections accepted.");
    out.sample("wingman_connections_accepted_total", double(c.connectionsAccepted));
    out.family(
        "wingman_auth_failures_total", "counter", "Connections that failed to authenticate.");
    out.sample("wingman_auth_failures_total", double(c.authFailures));
    out.family("wingman_auth_timeouts_total", "counter",
        "Connections closed for not authenticating in time.");
    out.sample("wingman_auth_timeouts_total", double(c.authTimeouts));
    out.family("wingman_connections_refused_total", "counter",
        "Connections refused with 1013 by the limit they hit.");
    out.sample("wingman_connections_refused_total", "reason", QStringLiteral("max_connections"),
        double(c.refusedMaxConnections));
    out.sample("wingman_connections_refused_total", "reason", QStringLiteral("max_pending_auth"),
        double(c.refusedMaxPendingAuth));
    out.sample("wingman_connections_refused_total", "reason", QStringLiteral("ip_rate"),
        double(c.refusedIpRate));

    out.family("wingman_messages_received_total", "counter",
        "Messages of authenticated clients by message type.");
    const QMap<QString, quint64> byType = node.messagesByType();
    for (auto it = byType.cbegin(); it != byType.cend(); ++it)
        out.sample("wingman_messages_received_total", "type", it.key(), double(it.value()));

    out.family(
        "wingman_ops_total", "counter", "Client ops by outcome: applied, rejected, dropped.");
    out.sample("wingman_ops_total", "outcome", QStringLiteral("applied"), double(c.opsApplied));
    out.sample("wingman_ops_total", "outcome", QStringLiteral("rejected"), double(c.opsRejected));
    out.sample("wingman_ops_total", "outcome", QStringLiteral("dropped"), double(c.opsDropped));
    out.family("wingman_acks_sent_total", "counter", "OP_ACK messages sent.");
    out.sample("wingman_acks_sent_total", double(c.acksSent));
    out.family("wingman_rejections_total", "counter", "OP_REJECTED messages sent.");
    out.sample("wingman_rejections_total", double(c.opsRejected));

    writeReplication(out, c);
    writeAntiEntropy(out, c);

    out.family("wingman_bytes_received_total", "counter", "Bytes received from clients.");
    out.sample("wingman_bytes_received_total", double(c.bytesIn));
    out.family("wingman_bytes_sent_total", "counter", "Bytes sent to clients.");
    out.sample("wingman_bytes_sent_total", double(c.bytesOut));
    out.family(
        "wingman_frames_received_total", "counter", "WebSocket frames received from clients.");
    out.sample("wingman_frames_received_total", double(c.messagesIn));
    out.family("wingman_frames_sent_total", "counter", "WebSocket frames sent to clients.");
    out.sample("wingman_frames_sent_total", double(c.messagesOut));
    out.family("wingman_slow_consumer_drops_total", "counter",
        "Connections closed for not reading what they were sent.");
    out.sample("wingman_slow_consumer_drops_total", double(c.slowConsumerDrops));

    writeCluster(out, node);

    out.family("wingman_gc_runs_total", "counter", "Garbage collection runs.");
    out.sample("wingman_gc_runs_total", double(c.gcRuns));
    out.family("wingman_gc_tombstones_pruned_total", "counter", "Tombstones pruned by GC.");
    out.sample("wingman_gc_tombstones_pruned_total", double(c.tombstonesPruned));
    out.family("wingman_gc_ttl_expired_total", "counter", "Records expired by their TTL.");
    out.sample("wingman_gc_ttl_expired_total", double(c.ttlExpired));

    out.family("wingman_ready", "gauge", "1 while the node serves clients.");
    out.sample("wingman_ready", node.isReady() ? 1 : 0);
    out.family("wingman_uptime_seconds", "gauge", "Seconds since the node became ready.");
    out.sample("wingman_uptime_seconds", double(node.uptimeMs()) / 1000.0);
    return out.text();
}

} // namespace wingman::metrics
