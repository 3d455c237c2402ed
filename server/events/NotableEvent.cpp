#include "events/NotableEvent.h"

namespace wingman::events {

QString notableEventName(NotableEvent kind)
{
    switch (kind) {
    case NotableEvent::AuthFailure:
        return QStringLiteral("auth-failure");
    case NotableEvent::OpRejected:
        return QStringLiteral("op-rejected");
    case NotableEvent::SlowConsumer:
        return QStringLiteral("slow-consumer");
    case NotableEvent::PeerUp:
        return QStringLiteral("peer-up");
    case NotableEvent::PeerDown:
        return QStringLiteral("peer-down");
    case NotableEvent::Gc:
        return QStringLiteral("gc");
    }
    return {};
}

} // namespace wingman::events
