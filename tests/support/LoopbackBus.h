#pragma once

#include "cluster/PeerBus.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QPair>
#include <QSet>

#include <map>
#include <memory>

namespace wingman::test {

class LoopbackCluster;

// An in-process PeerBus: frames go through its LoopbackCluster to another bus, delivered in
// order on a later event-loop turn, as a link would.
class LoopbackBus : public cluster::PeerBus
{
    Q_OBJECT
public:
    LoopbackBus(LoopbackCluster &cluster, QString nodeId);

    QString localNodeId() const override { return m_nodeId; }
    QStringList replicaPeers() const override;
    bool isClustered() const override { return true; }
    bool isReachable(const QString &nodeId) const override;
    bool send(const QString &nodeId, const QByteArray &body) override;
    const cluster::PartitionTable &table() const override { return m_table; }

    void setTable(const cluster::PartitionTable &table);

private:
    friend class LoopbackCluster;
    LoopbackCluster &m_cluster;
    QString m_nodeId;
    cluster::PartitionTable m_table;
};

// N buses, fully linked. A pair's link can be cut (linkDown at both ends; frames in flight are
// lost) and healed (linkUp); frames of one direction can be held and released to delay them.
class LoopbackCluster : public QObject
{
    Q_OBJECT
public:
    struct Frame {
        QString from;
        QString to;
        QString type;
        QByteArray body;
    };

    LoopbackBus *add(const QString &nodeId);
    LoopbackBus *bus(const QString &nodeId) const;
    QStringList nodeIds() const;

    void cut(const QString &a, const QString &b);
    void heal(const QString &a, const QString &b);
    bool isLinked(const QString &a, const QString &b) const;
    // Frames from → to of the given type (empty: any) wait until release().
    void hold(const QString &from, const QString &to, const QString &type = {});
    void release(const QString &from, const QString &to);
    qsizetype heldCount(const QString &from, const QString &to) const;
    // A table over every node (backupCount 1), set on every bus.
    void setTable(qint64 version = 1, int backupCount = 1);

    // Every frame delivered so far.
    const QList<Frame> &delivered() const { return m_delivered; }
    qsizetype deliveredCount(const QString &from, const QString &to, const QString &type) const;

    static QString typeOf(const QByteArray &body);

private:
    friend class LoopbackBus;
    using Pair = QPair<QString, QString>; // ordered: lower id first
    static Pair pair(const QString &a, const QString &b);
    bool route(const QString &from, const QString &to, const QByteArray &body);
    void deliver(Frame frame, quint64 generation);

    std::map<QString, std::unique_ptr<LoopbackBus>> m_buses;
    QSet<Pair> m_cut;
    QHash<Pair, quint64> m_generation; // bumped on every cut: frames in flight are dropped
    QHash<QPair<QString, QString>, QString> m_hold; // (from, to) → type, empty for all
    QHash<QPair<QString, QString>, QList<Frame>> m_held;
    QList<Frame> m_delivered;
};

} // namespace wingman::test
