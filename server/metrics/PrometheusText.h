#pragma once

#include <QByteArray>
#include <QString>

namespace wingman {
namespace status {
class NodeStatus;
}
} // namespace wingman

namespace wingman::metrics {

// Builds the Prometheus text exposition (format 0.0.4) of one node: every family with its
// # HELP and # TYPE lines, then its samples. A family that gets no sample (a per-peer family on
// a node without peers) is left out, header and all.
class PrometheusText
{
public:
    static QByteArray render(const status::NodeStatus &node);

    void family(const char *name, const char *type, const char *help);
    void sample(const char *name, double value);
    void sample(const char *name, const char *label, const QString &labelValue, double value);
    void sample(const char *name, const char *label, const QString &labelValue, const char *label2,
        const QString &labelValue2, double value);
    QByteArray text() const { return m_text; }

private:
    void flushHeader();

    QByteArray m_text;
    QByteArray m_header; // the current family's, written with its first sample
};

} // namespace wingman::metrics
