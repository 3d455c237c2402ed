#include "ServerFixture.h"

namespace wingman::test {

QUrl loopbackUrl(quint16 port)
{
    return QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port));
}

bool ServerFixture::start(const ServerConfig &config)
{
    m_server.reset();
    m_server = startServer(config);
    return m_server != nullptr;
}

bool ServerFixture::stop()
{
    if (!m_server)
        return true;
    const bool stopped = stopServer(*m_server);
    m_server.reset();
    return stopped;
}

} // namespace wingman::test
