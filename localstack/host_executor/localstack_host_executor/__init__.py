"""A LocalStack Lambda runtime executor that needs no Docker engine.

LocalStack's built-in executor downloads a Go init binary from GitHub and starts one container per function.
Neither works on a machine without Docker and internet, so every Lambda function (and every CloudFormation
resource that waits for one to become Active) fails there. This executor instead runs Python functions as
plain host processes, started with a host interpreter of the function's runtime version.
"""
