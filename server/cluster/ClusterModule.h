#pragma once

#include "cluster/Member.h"

#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QLoggingCategory>
#include <QObject>
#include <QStringList>

class QTcpServer;

namespace wingman::cluster {

Q_DECLARE_LOGGING_CATEGORY(lcCluster)

class PeerLink;

// The peer-facing TCP listener and the membership it sees. start() reports listening(port) with
// the port the OS actually bound, or failed(reason); then every configured peer gets an outbound
// PeerLink, and accepted sockets become inbound links. A member is up while any link to it is.
class ClusterModule : public QObject
{
    Q_OBJECT
public:
    ClusterModule(QHostAddress host, quint16 port, QObject *parent = nullptr);
    ~ClusterModule() override;

    // Call before start(): who this node is, whom to dial (host:port) and how often links beat.
    void setMembership(const QString &nodeId, const QStringList &peers, int heartbeatMs);

    void start();
    // Stops accepting and closes every peer link.
    void stop();
    int peerSocketCount() const;
    QList<Member> members() const;

Q_SIGNALS:
    void listening(quint16 port);
    void failed(const QString &reason);
    void memberUp(const QString &nodeId);
    void memberDown(const QString &nodeId, const QString &reason);

private:
    void acceptPending();
    void addLink(PeerLink *link);
    void onLinkUp(const PeerLink &link, const QString &nodeId);
    void onLinkDown(const QString &nodeId, const QString &reason);
    bool anyLinkUp(const QString &nodeId) const;

    QHostAddress m_host;
    quint16 m_requestedPort;
    QString m_nodeId;
    QStringList m_peers;
    int m_heartbeatMs = 1000;
    QTcpServer *m_server;
    QList<PeerLink *> m_links;
    QHash<QString, Member> m_members; // by node id
    QDateTime m_startedAt;
};

} // namespace wingman::cluster
