// The PostgreSQL store's schema as it was at version 2, the oldest version
// PostgresStore::Open migrates. Exposed so migration tests can build a
// version-2 database with data in it; PostgresStore itself creates every new
// database this way and migrates it (schema.cc). Stateless, thread-safe.
#ifndef GRAPHMILL_COORDINATOR_STORE_POSTGRES_SCHEMA_H_
#define GRAPHMILL_COORDINATOR_STORE_POSTGRES_SCHEMA_H_

#include <string>

namespace graphmill::coordinator::postgres_internal {

// The DDL of schema version 2 (CREATE ... IF NOT EXISTS), without the
// schema_version row.
std::string Version2Schema();

}  // namespace graphmill::coordinator::postgres_internal

#endif  // GRAPHMILL_COORDINATOR_STORE_POSTGRES_SCHEMA_H_
