"""The control socket: the running breakroom's server (:mod:`.server`) and the light client
every agent's CLI and hooks use (:mod:`.client`)."""
