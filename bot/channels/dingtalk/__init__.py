"""DingTalk / 浙政钉 robot channel, one job per module: signing, inbound, render, http, api, zzd, sender, callback."""
