from setuptools import find_packages, setup

setup(
    name="spark-model-monitor",
    version="0.1.0",
    description="Open, Spark-native replacement for the SageMaker Model Monitor analyzer",
    packages=find_packages(include=["monitor_lib", "monitor_lib.*"]),
    python_requires=">=3.11",
    install_requires=[
        "pyspark>=4.1.2,<5",
        "datasketches==5.2.0",
        "boto3>=1.34",
        "PyYAML>=6.0",
        "numpy>=1.26",
        "pandas>=2.1",
        "pyarrow>=14",
        "scikit-learn>=1.3",  # the model-bias flip test (FT)
        "cronsim>=2.8",  # schedules: cron expressions
        "isodate>=0.7",  # schedules: ISO-8601 durations (windows, offsets)
        "tzdata",  # schedules: IANA time zones where the system has none
    ],
    entry_points={"console_scripts": ["model-monitor=monitor_lib.cli:main"]},
)
