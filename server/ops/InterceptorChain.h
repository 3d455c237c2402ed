#pragma once

#include "ops/Interceptor.h"

#include <QList>
#include <memory>

namespace wingman::ops {

// A node's interceptors in the order they run. Empty chains cost nothing on the op path.
class InterceptorChain
{
public:
    InterceptorChain() = default;
    explicit InterceptorChain(QList<std::shared_ptr<Interceptor>> interceptors);

    void append(std::shared_ptr<Interceptor> interceptor);
    bool isEmpty() const { return m_interceptors.isEmpty(); }
    qsizetype size() const { return m_interceptors.size(); }

    // Every interceptor until one rejects.
    ConnectionVerdict connectionOpened(const ConnectionContext &context) const;
    // Every interceptor.
    void connectionClosed(const ConnectionContext &context) const;
    // Every interceptor until one drops or rejects; each sees the op as the previous left it.
    OpVerdict beforeOp(protocol::ClientOp &op, const ConnectionContext &context) const;
    // Every interceptor.
    void afterOp(const protocol::ClientOp &op, const ConnectionContext &context) const;

private:
    QList<std::shared_ptr<Interceptor>> m_interceptors;
};

} // namespace wingman::ops
