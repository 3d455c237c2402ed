#pragma once

#include <QByteArray>
#include <QObject>
#include <QString>

#include <functional>

namespace wingman::monitor {

// Where secrets are kept: the system keychain (SystemKeychain) or, in tests, a stand-in.
// Every call answers once, later, from the event loop, and never after the keychain is gone.
class Keychain : public QObject
{
    Q_OBJECT
public:
    enum class Outcome { Done, NotFound, Unavailable };
    Q_ENUM(Outcome)

    struct Reply {
        Outcome outcome = Outcome::Unavailable;
        QByteArray data;
        // Why the keychain could not be used, for Unavailable.
        QString reason;
    };
    using Callback = std::function<void(const Reply &reply)>;

    using QObject::QObject;

    virtual void read(const QString &key, Callback done) = 0;
    virtual void write(const QString &key, const QByteArray &data, Callback done) = 0;
    virtual void remove(const QString &key, Callback done) = 0;
};

} // namespace wingman::monitor
