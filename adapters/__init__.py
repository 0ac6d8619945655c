"""The edges the domain talks through: settings, database, mail, rendering, composers, payment gateways."""
