#pragma once

#include <QSslConfiguration>
#include <QString>

#include <optional>

namespace wingman::cluster {

// A TLS 1.2+ server identity from PEM files: the certificate chain (leaf first) and its private
// key. nullopt, with the option to fix in `error` (certOption, keyOption name them), when a file
// does not hold what it should or the key is not the certificate's.
std::optional<QSslConfiguration> tlsIdentity(const QString &certPath, const QString &keyPath,
    const QString &certOption, const QString &keyOption, QString *error);

// TLS 1.2+ for peer links from PEM files: each side presents its certificate and verifies the
// other's against the CA (docs/cluster.md §1). nullopt, with the option to fix in `error`, when a
// file does not hold what it should.
std::optional<QSslConfiguration> clusterTls(
    const QString &certPath, const QString &keyPath, const QString &caPath, QString *error);

} // namespace wingman::cluster
