#pragma once

#include <QLoggingCategory>
#include <QObject>

namespace wingman::storage {

Q_DECLARE_LOGGING_CATEGORY(lcStorage)

// Where a node keeps what it acknowledged. open() finishes with opened() or failed(reason), never
// synchronously, so the coordinator can join it with the listeners.
class Storage : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;

    virtual void open() = 0;
    virtual void close() = 0;
    virtual bool isOpen() const = 0;

Q_SIGNALS:
    void opened();
    void failed(const QString &reason);
};

} // namespace wingman::storage
