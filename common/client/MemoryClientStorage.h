#pragma once

#include "client/ClientStorage.h"

#include <QMap>
#include <QSet>

namespace wingman::client {

// ClientStorage in process memory: nothing survives the process, which suits tests and clients
// that keep no offline state. Never fails.
class MemoryClientStorage : public ClientStorage
{
public:
    bool open() override;
    bool isOpen() const override { return m_open; }
    QString errorString() const override { return {}; }

    QString appendOp(const protocol::ClientOp &op) override;
    bool markOpSynced(const QString &id) override;
    bool removeOp(const QString &id) override;
    bool pruneSyncedOps() override;
    QList<protocol::ClientOp> unsyncedOps() const override;

    bool storeLwwRecord(
        const QString &mapName, const QString &key, const crdt::LwwRecord &record) override;
    bool removeLwwRecord(const QString &mapName, const QString &key) override;
    QHash<QString, crdt::LwwRecord> lwwRecords(const QString &mapName) const override;

    bool storeOrRecords(
        const QString &mapName, const QString &key, const QList<crdt::OrRecord> &records) override;
    QHash<QString, QList<crdt::OrRecord>> orRecords(const QString &mapName) const override;
    bool addOrTombstones(const QString &mapName, const QStringList &tags) override;
    bool removeOrTombstones(const QString &mapName, const QStringList &tags) override;
    QStringList orTombstones(const QString &mapName) const override;

    qint64 lastSyncTimestamp(const QString &mapName) const override;
    bool setLastSyncTimestamp(const QString &mapName, qint64 millis) override;

    bool clearMap(const QString &mapName) override;

private:
    struct LoggedOp {
        protocol::ClientOp op;
        bool synced = false;
    };

    bool m_open = false;
    qint64 m_lastSequence = 0;
    QMap<qint64, LoggedOp> m_ops;
    QHash<QString, QHash<QString, crdt::LwwRecord>> m_lwwRecords;
    QHash<QString, QHash<QString, QList<crdt::OrRecord>>> m_orRecords;
    QHash<QString, QSet<QString>> m_orTombstones;
    QHash<QString, qint64> m_lastSync;
};

} // namespace wingman::client
