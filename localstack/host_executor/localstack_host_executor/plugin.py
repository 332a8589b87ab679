from plux import Plugin


class HostRuntimeExecutorPlugin(Plugin):
    namespace = "localstack.lambda.runtime_executor"
    name = "host"

    def load(self, *args, **kwargs):
        from localstack_host_executor.executor import HostRuntimeExecutor

        return HostRuntimeExecutor
