#pragma once

#include "crdt/Hlc.h"

#include <QList>
#include <QSslCertificate>
#include <QString>
#include <QUrl>

namespace wingman::client {

// Settings of one SyncEngine. The defaults are the TopGun client's.
struct SyncEngineConfig {
    QUrl url; // ws://host:port/ or wss://host:port/
    // wss:// only. The authorities the server's certificate must chain to, in place of the
    // system's (a private CA); empty: the system's.
    QList<QSslCertificate> caCertificates;
    // wss:// only. Server certificates accepted as they are, whoever signed them and whatever
    // host they name (a pinned self-signed certificate); any other certificate still has to verify.
    QList<QSslCertificate> pinnedCertificates;
    QString nodeId; // this client's HLC node id (no ':'); empty: a random "client-…"
    crdt::Hlc::Clock clock; // empty: the system clock

    int reconnectBaseMs = 1000; // first delay; doubles per failed attempt …
    int reconnectMaxMs = 30000; // … up to this
    double reconnectJitter = 0.5; // each delay varied by ±50%
    int maxReconnectAttempts = 0; // 0: keep trying forever

    int heartbeatIntervalMs = 5000; // PING cadence once authenticated
    int heartbeatTimeoutMs = 15000; // no PONG for this long: the link is dead, reconnect
    int authTimeoutMs = 10000; // from opening the socket to AUTH_ACK, else reconnect
    int ackTimeoutMs = 5000; // an op unacknowledged this long is sent again, and a
                             // Merkle sync without an answer this long restarts
    int maxBatchOps = 100; // ops per OP_BATCH
};

} // namespace wingman::client
