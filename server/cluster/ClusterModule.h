#pragma once

#include "cluster/Member.h"
#include "cluster/Membership.h"
#include "cluster/PeerBus.h"

#include <QElapsedTimer>
#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QLoggingCategory>
#include <QMap>
#include <QSslConfiguration>
#include <QStringList>
#include <QTimer>

#include <functional>
#include <optional>

class QTcpServer;

namespace wingman::cluster {

Q_DECLARE_LOGGING_CATEGORY(lcCluster)

class FailureDetector;
class PeerLink;
struct Hello;

// What the node tells its cluster module before start() (docs/cluster.md §9).
struct ClusterOptions {
    QString nodeId;
    QStringList peers; // host:port
    QByteArray secret; // empty: every handshake is refused
    QString advertiseHost = QStringLiteral("127.0.0.1");
    quint16 advertisePort = 0; // 0: the port actually bound
    QString clientEndpoint; // ws://host:port
    int backupCount = 1;
    int probeIntervalMs = 500;
    int suspicionTimeoutMs = 1500;
    int joinTimeoutMs = 3000;
    qint64 memberForgetAfterMs = 24LL * 60 * 60 * 1000;
    qint64 tableVersion = 0; // the highest version this node has seen, from storage meta
    qint64 gcHorizon = 0;
    // Set: every link is TLS 1.2+ with both certificates verified against its CA certificates.
    std::optional<QSslConfiguration> tls;
};

// The cluster listener, the authenticated links to the other members (one per pair), the
// membership with its failure detector, and the partition table (docs/cluster.md §1-3, §8).
// start() reports listening(port) or failed(reason) and never waits for peers. As a PeerBus it is
// what the data path sees of the cluster.
class ClusterModule : public PeerBus
{
    Q_OBJECT
public:
    ClusterModule(QHostAddress host, quint16 port, QObject *parent = nullptr);
    ~ClusterModule() override;

    void configure(const ClusterOptions &options);
    const ClusterOptions &options() const { return m_options; }

    void start();
    // Announces that this node is leaving (its partitions move at once); links stay up.
    void leave();
    // The data path's answer to "is anything still queued for a peer?"; drain() waits for no.
    void setPendingForPeers(std::function<bool()> pending)
    {
        m_pendingForPeers = std::move(pending);
    }
    // Emits drained() once nothing is pending for peers or after timeoutMs, always from a later
    // event-loop turn.
    void drain(int timeoutMs);
    // Leaves gracefully when started: announces leaving, says BYE {reason:"leaving"} on every
    // link, stops accepting and closes the links.
    void stop();

    int peerSocketCount() const { return int(m_linkOf.size()); }
    // Every other member known, and configured peers that never answered.
    QList<Member> members() const;
    // Every member, this node included.
    QList<MemberInfo> memberInfos() const;
    MemberState localState() const;
    bool isJoining() const { return localState() == MemberState::Joining; }
    // Ends this node's joining state (it becomes up and enters the table). Anti-entropy calls it
    // once the catch-up is done; until then the first table received from a peer, or
    // joinTimeoutMs, ends it.
    void endJoining();
    void setEndJoiningOnFirstTable(bool on) { m_endJoiningOnFirstTable = on; }

    double rttMs(const QString &nodeId) const;
    QMap<QString, quint64> handshakeFailures() const { return m_handshakeFailures; }
    quint64 suspicions() const { return m_suspicions; }
    quint64 probeFailures(const QString &nodeId) const;

    // PeerBus
    QString localNodeId() const override { return m_options.nodeId; }
    QStringList replicaPeers() const override;
    bool isClustered() const override;
    bool isReachable(const QString &nodeId) const override;
    bool send(const QString &nodeId, const QByteArray &body) override;
    const PartitionTable &table() const override { return m_table; }

Q_SIGNALS:
    void listening(quint16 port);
    void failed(const QString &reason);
    // A member entered up (PeerUp notable event; down or left is PeerBus::memberDown).
    void memberUp(const QString &nodeId);
    // Anything members() shows changed: a link or a member's state.
    void viewChanged();
    void joinEnded();
    void drained();

private:
    Hello localHello() const;
    // "[nodeId]": several nodes may share a process (tests) and its log.
    QString logPrefix() const { return u'[' + m_options.nodeId + u']'; }
    void acceptPending();
    PeerLink *newLink(PeerLink *link);
    void onAuthenticated(PeerLink *link);
    void onLinkClosed(PeerLink *link, const QString &reason);
    void onFrame(PeerLink *link, const QString &type, const QByteArray &body);
    void maintain();
    void dialMissing();
    void dial(const QString &address);

    // Membership (ClusterMembership.cpp).
    void applyGossip(const QList<MemberInfo> &gossip, const QString &from);
    void markMember(const QString &nodeId, MemberState state, const QString &reason);
    void noteTransition(const MemberInfo &before, const MemberInfo &after, const QString &reason);
    void broadcastMembers(const QList<MemberInfo> &changed);
    void sendFullMembers(const QString &nodeId);
    void checkSuspects();
    QStringList probeTargets() const;
    QStringList relaysFor(const QString &target) const;
    void onProbeFailed(const QString &nodeId);
    // Partition table (ClusterMembership.cpp).
    void scheduleTableCheck();
    void checkTable();
    void adoptTable(const PartitionTable &table);
    void handleTable(const QCborMap &frame);
    QCborMap tableFrame() const;

    QHostAddress m_host;
    quint16 m_requestedPort;
    ClusterOptions m_options;
    QTcpServer *m_server;
    FailureDetector *m_detector;
    std::optional<Membership> m_membership;
    QString m_runId;
    bool m_started = false;
    bool m_endJoiningOnFirstTable = true;

    QList<PeerLink *> m_links; // every link, handshaking or up
    QHash<QString, PeerLink *> m_linkOf; // the one up link per node id
    QHash<QString, QDateTime> m_linkSince;
    struct Dial {
        PeerLink *pending = nullptr;
        qint64 nextAt = 0;
        int backoffMs = 100;
        QString nodeId; // who answered there
        bool self = false; // this node's own address: never dialled again
    };
    QHash<QString, Dial> m_dials; // by host:port

    QElapsedTimer m_clock;
    QHash<QString, qint64> m_stateSince; // m_clock ms of each member's last state change
    QTimer m_maintenance;
    QTimer m_joinTimer;
    qint64 m_lastFullGossip = 0;
    bool m_tableCheckQueued = false;
    PartitionTable m_table;
    qint64 m_highestVersion = 0;
    QDateTime m_startedAt;

    std::function<bool()> m_pendingForPeers;
    QTimer m_drainTimer;
    QElapsedTimer m_drainClock;
    int m_drainTimeoutMs = 0;
    QMap<QString, quint64> m_handshakeFailures; // by reason
    quint64 m_suspicions = 0;
};

} // namespace wingman::cluster
