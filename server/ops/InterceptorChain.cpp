#include "ops/InterceptorChain.h"

namespace wingman::ops {

InterceptorChain::InterceptorChain(QList<std::shared_ptr<Interceptor>> interceptors)
{
    for (std::shared_ptr<Interceptor> &interceptor : interceptors)
        append(std::move(interceptor));
}

void InterceptorChain::append(std::shared_ptr<Interceptor> interceptor)
{
    if (interceptor)
        m_interceptors.append(std::move(interceptor));
}

ConnectionVerdict InterceptorChain::connectionOpened(const ConnectionContext &context) const
{
    for (const auto &interceptor : m_interceptors) {
        ConnectionVerdict verdict = interceptor->onConnection(context);
        if (!verdict.accepted)
            return verdict;
    }
    return ConnectionVerdict::accept();
}

void InterceptorChain::connectionClosed(const ConnectionContext &context) const
{
    for (const auto &interceptor : m_interceptors)
        interceptor->onDisconnect(context);
}

OpVerdict InterceptorChain::beforeOp(protocol::ClientOp &op, const ConnectionContext &context) const
{
    for (const auto &interceptor : m_interceptors) {
        OpVerdict verdict = interceptor->onBeforeOp(op, context);
        if (verdict.kind != OpVerdict::Kind::Continue)
            return verdict;
    }
    return OpVerdict::proceed();
}

void InterceptorChain::afterOp(const protocol::ClientOp &op, const ConnectionContext &context) const
{
    for (const auto &interceptor : m_interceptors)
        interceptor->onAfterOp(op, context);
}

} // namespace wingman::ops
