"""The MongoDB wire protocol: mongo-java-server on its persistent H2 backend."""

from __future__ import annotations

from movie_pipeline.stack import jvm
from movie_pipeline.stack.process import tcp_open
from movie_pipeline.stack.services.base import Service


class Mongo(Service):
    name = "mongo"

    def prepare(self) -> None:
        super().prepare()
        jvm.fetch("mongo", self.settings.state_dir)
        jvm.compile_main("MongoServerMain", "mongo", self.settings.state_dir)

    def command(self) -> list[str]:
        classpath = jvm.classpath("mongo", self.settings.state_dir, with_classes=True)
        database = self.data_dir / "mongo.mv.db"
        return [
            "java",
            "-Xmx384m",
            "-Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire=warn",
            "-cp",
            classpath,
            "MongoServerMain",
            self.host,
            str(self.port),
            str(database),
        ]

    def is_ready(self) -> bool:
        if not tcp_open(self.host, self.port):
            return False
        import pymongo

        try:
            client = pymongo.MongoClient(self.host, self.port, serverSelectionTimeoutMS=1500)
            client.admin.command("ping")
            client.close()
            return True
        except pymongo.errors.PyMongoError:
            return False
